// SPDX-License-Identifier: GPL-2.0
/*
 * rk-led-sim — a simulated multicolor LED for resetkit's VM suite.
 *
 * Debian's kernel has the LED multicolor class but no driver that binds
 * without hardware.  This one registers a platform device and, through the
 * kernel's own leds-class-multicolor, one LED "rk-sim:multi:status" with a
 * red, a green and a blue sub-LED (max_brightness 255).  Everything a test
 * drives — brightness, multi_intensity, triggers — is the real LED class
 * code; the driver only does what hardware would: on every brightness_set
 * it lets led_mc_calc_color_components() compute the three channels, and it
 * records them where a test can read them:
 *
 *   /sys/devices/platform/rk-led-sim/channels   "R G B" as last computed
 *   <debugfs>/rk-led-sim/log                    the last LOG_LEN calls,
 *       one a line: "<seq> <CLOCK_MONOTONIC ms> <brightness> <R> <G> <B>"
 *
 * brightness_set (not _blocking): the triggers call it from their timers,
 * so the timestamps are when the kernel asked, not when a work queue ran.
 */
#include <linux/debugfs.h>
#include <linux/led-class-multicolor.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>

#define DRV_NAME "rk-led-sim"
#define LOG_LEN 1024

struct sim_entry {
	u64 seq, ns;
	u32 brightness, ch[3];
};

struct rk_led_sim {
	struct led_classdev_mc mc;
	struct mc_subled sub[3];
	spinlock_t lock;		/* brightness_set runs in timer context */
	u64 seq;			/* calls so far */
	struct sim_entry log[LOG_LEN];
	struct dentry *debugfs;
};

static void sim_brightness_set(struct led_classdev *cdev, enum led_brightness b)
{
	struct led_classdev_mc *mc = lcdev_to_mccdev(cdev);
	struct rk_led_sim *sim = container_of(mc, struct rk_led_sim, mc);
	struct sim_entry *e;
	unsigned long flags;
	int i;

	spin_lock_irqsave(&sim->lock, flags);
	led_mc_calc_color_components(mc, b);
	e = &sim->log[sim->seq % LOG_LEN];
	e->seq = ++sim->seq;
	e->ns = ktime_get_ns();
	e->brightness = b;
	for (i = 0; i < 3; i++)
		e->ch[i] = mc->subled_info[i].brightness;
	spin_unlock_irqrestore(&sim->lock, flags);
}

static ssize_t channels_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct rk_led_sim *sim = dev_get_drvdata(dev);
	unsigned long flags;
	u32 ch[3];
	int i;

	spin_lock_irqsave(&sim->lock, flags);
	for (i = 0; i < 3; i++)
		ch[i] = sim->sub[i].brightness;
	spin_unlock_irqrestore(&sim->lock, flags);
	return sysfs_emit(buf, "%u %u %u\n", ch[0], ch[1], ch[2]);
}
static DEVICE_ATTR_RO(channels);

static struct attribute *sim_attrs[] = {
	&dev_attr_channels.attr,
	NULL,
};
ATTRIBUTE_GROUPS(sim);

static int sim_log_show(struct seq_file *s, void *unused)
{
	struct rk_led_sim *sim = s->private;
	unsigned long flags;
	u64 first, i;

	/* seq_printf does not sleep; single_open retries with a larger
	 * buffer when it overflows */
	spin_lock_irqsave(&sim->lock, flags);
	first = sim->seq > LOG_LEN ? sim->seq - LOG_LEN : 0;
	for (i = first; i < sim->seq; i++) {
		const struct sim_entry *e = &sim->log[i % LOG_LEN];

		seq_printf(s, "%llu %llu %u %u %u %u\n", e->seq, e->ns / NSEC_PER_MSEC,
			   e->brightness, e->ch[0], e->ch[1], e->ch[2]);
	}
	spin_unlock_irqrestore(&sim->lock, flags);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sim_log);

static void sim_debugfs_remove(void *data)
{
	debugfs_remove_recursive(data);
}

static int sim_probe(struct platform_device *pdev)
{
	static const unsigned int colors[3] = {
		LED_COLOR_ID_RED, LED_COLOR_ID_GREEN, LED_COLOR_ID_BLUE,
	};
	struct rk_led_sim *sim;
	int i, r;

	sim = devm_kzalloc(&pdev->dev, sizeof(*sim), GFP_KERNEL);
	if (!sim)
		return -ENOMEM;
	spin_lock_init(&sim->lock);
	for (i = 0; i < 3; i++) {
		sim->sub[i].color_index = colors[i];
		sim->sub[i].channel = i;
	}
	sim->mc.subled_info = sim->sub;
	sim->mc.num_colors = 3;
	sim->mc.led_cdev.name = "rk-sim:multi:status";
	sim->mc.led_cdev.max_brightness = 255;
	sim->mc.led_cdev.brightness_set = sim_brightness_set;
	platform_set_drvdata(pdev, sim);

	sim->debugfs = debugfs_create_dir(DRV_NAME, NULL);
	debugfs_create_file("log", 0444, sim->debugfs, sim, &sim_log_fops);
	r = devm_add_action_or_reset(&pdev->dev, sim_debugfs_remove, sim->debugfs);
	if (r)
		return r;
	return devm_led_classdev_multicolor_register(&pdev->dev, &sim->mc);
}

static struct platform_driver sim_driver = {
	.probe = sim_probe,
	.driver = {
		.name = DRV_NAME,
		.dev_groups = sim_groups,
	},
};

static struct platform_device *sim_pdev;

static int __init rk_led_sim_init(void)
{
	int r = platform_driver_register(&sim_driver);

	if (r)
		return r;
	sim_pdev = platform_device_register_simple(DRV_NAME, PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(sim_pdev)) {
		platform_driver_unregister(&sim_driver);
		return PTR_ERR(sim_pdev);
	}
	/* a failed probe leaves the device unbound: fail the load instead of
	 * leaving a module that looks fine and has no LED */
	if (!platform_get_drvdata(sim_pdev)) {
		platform_device_unregister(sim_pdev);
		platform_driver_unregister(&sim_driver);
		return -ENODEV;
	}
	return 0;
}

static void __exit rk_led_sim_exit(void)
{
	platform_device_unregister(sim_pdev);
	platform_driver_unregister(&sim_driver);
}

module_init(rk_led_sim_init);
module_exit(rk_led_sim_exit);
MODULE_DESCRIPTION("Simulated multicolor LED for resetkit's VM tests");
MODULE_LICENSE("GPL");
